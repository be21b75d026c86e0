// CLIPWeights
