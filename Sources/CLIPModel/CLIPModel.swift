// CLIPModel
