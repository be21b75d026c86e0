import ArgumentParser
import CLIP

/// `--templates`, shared by the commands that build zero-shot classifiers (`clip classify`,
/// `clip eval --zeroshot-folder`).
struct TemplateOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Prompt templates: 'openai-imagenet' (OpenAI's 80), or a file with one template per line using {} for the class name. Default: \"a photo of a {}.\"",
            valueName: "openai-imagenet|file"))
    var templates: String?

    /// The templates to use: OpenAI's 80, the file's lines, or `["a photo of a {}."]`.
    func prompts() throws -> [String] {
        guard let templates else { return ZeroShotEvaluation.defaultTemplates }
        return templates == "openai-imagenet"
            ? ZeroShotClassifier.openAIImageNetTemplates : try InputLists.lines(templates)
    }
}
