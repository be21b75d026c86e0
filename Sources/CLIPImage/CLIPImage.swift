// CLIPImage
