"""Model graders' machinery. In the model server (`rlvr serve-model`): loading (`loader`), forward passes
(`forward`) and dynamic batching (`batcher`). In the reward service: which server answers for a model
(`servers`), its HTTP client (`client`), and rendering samples into model input (`text`, `shared`)."""
