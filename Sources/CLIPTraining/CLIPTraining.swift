// CLIPTraining: contrastive training, data, checkpoints, evaluation.
