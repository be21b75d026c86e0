// The umbrella module: `import CLIP` brings in every library target.

@_exported import CLIPDistributed
@_exported import CLIPEvaluation
@_exported import CLIPHub
@_exported import CLIPImage
@_exported import CLIPModel
@_exported import CLIPOutput
@_exported import CLIPReport
@_exported import CLIPSynthetic
@_exported import CLIPTensor
@_exported import CLIPTextCleaning
@_exported import CLIPTokenizer
@_exported import CLIPTraining
@_exported import CLIPWeights
