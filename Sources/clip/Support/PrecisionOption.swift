import ArgumentParser
import CLIP

/// `--precision fp32|int8` for the commands that run a model (`embed`, `classify`, `eval`).
struct PrecisionOption: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "fp32, or int8: the transformer's linear layers in int8, quantised at load from any format (README: int8 inference).",
            valueName: "fp32|int8"))
    var precision: String = "fp32"

    func validate() throws {
        guard Precision(rawValue: precision) != nil else {
            throw ValidationError("--precision must be fp32 or int8, got '\(precision)'")
        }
    }

    /// The chosen precision (fp32 when unparsable, which `validate` has already refused).
    var value: Precision { Precision(rawValue: precision) ?? .fp32 }
}
