enum CLIPTensorPlaceholder {}
