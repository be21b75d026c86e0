// Port of ftfy 6.3.1 `ftfy/badness.py` (`is_bad`): the mojibake heuristic BADNESS_RE,
// evaluated as generated atom sequences instead of a regex engine.

/// One element of a BADNESS_RE alternative (generated from the parsed Python pattern).
enum BadnessAtom: Sendable {
    /// A character in generated set `n`.
    case set(Int)
    /// A character not in generated set `n` (`[^A-Za-z]`).
    case notSet(Int)
    /// Exactly this scalar.
    case scalar(UInt32)
    /// Python `re` `\s`.
    case space
    /// Python `re` `\w`.
    case word
    /// `.` without DOTALL: anything but `\n`.
    case anyButNewline
    /// `^` without MULTILINE: position 0 only.
    case start
    /// `\s?`.
    case optionalSpace
}

/// The 64 small character sets used by ftfy's regexes, as one bit mask per BMP character.
enum CharacterMasks {
    static let bmp: [UInt64] = {
        var masks = [UInt64](repeating: 0, count: 0x10000)
        for (bit, text) in GeneratedCharacterSets.sets.enumerated() {
            for member in ScalarRanges(text).members where member < 0x10000 {
                masks[Int(member)] |= 1 << UInt64(bit)
            }
        }
        return masks
    }()

    @inline(__always)
    static func mask(_ scalar: UInt32) -> UInt64 {
        scalar < 0x10000 ? bmp[Int(scalar)] : 0
    }
}

/// Python `re` / `regex` / `str` character classes from CPython 3.11.
enum PythonClasses {
    static let reSpace = ScalarSet(GeneratedUnicodeTables.reSpace)
    static let reWord = ScalarSet(GeneratedUnicodeTables.reWord)
    static let reDigit = ScalarSet(GeneratedUnicodeTables.reDigit)
    static let regexSpace = ScalarSet(GeneratedUnicodeTables.regexSpace)
    static let isSpace = ScalarSet(GeneratedUnicodeTables.pythonIsSpace)
}

enum Badness {
    private static let alternatives = GeneratedCharacterSets.badnessAlternatives

    /// Sets that can start an alternative; characters in none of them (and not `\s`) start no match.
    private static let firstMask: UInt64 = {
        var mask: UInt64 = 0
        for alternative in alternatives {
            if case .set(let bit) = alternative[0] { mask |= 1 << UInt64(bit) }
        }
        return mask
    }()
    private static let firstScalars: Set<UInt32> = {
        var scalars = Set<UInt32>()
        for alternative in alternatives {
            if case .scalar(let value) = alternative[0] { scalars.insert(value) }
        }
        return scalars
    }()

    /// `ftfy.badness.is_bad`: whether BADNESS_RE matches anywhere in `text`.
    static func isBad<C: RandomAccessCollection>(_ text: C) -> Bool where C.Element == UInt32, C.Index == Int {
        let start = text.startIndex
        for i in text.indices {
            let c = text[i]
            let startsSomething = CharacterMasks.mask(c) & firstMask != 0 || firstScalars.contains(c)
                || i == start || PythonClasses.reSpace.contains(c)
            if !startsSomething { continue }
            for alternative in alternatives where matches(alternative, 0, text, i) {
                return true
            }
        }
        return false
    }

    /// Matches `atoms[k...]` at `text[i...]` with Python's backtracking order (only `\s?` branches).
    private static func matches<C: RandomAccessCollection>(
        _ atoms: [BadnessAtom], _ k: Int, _ text: C, _ i: Int
    ) -> Bool where C.Element == UInt32, C.Index == Int {
        if k == atoms.count { return true }
        if case .start = atoms[k] {
            return i == text.startIndex && matches(atoms, k + 1, text, i)
        }
        if case .optionalSpace = atoms[k] {
            if i < text.endIndex && PythonClasses.reSpace.contains(text[i]) && matches(atoms, k + 1, text, i + 1) {
                return true
            }
            return matches(atoms, k + 1, text, i)
        }
        guard i < text.endIndex else { return false }
        let c = text[i]
        let ok: Bool
        switch atoms[k] {
        case .set(let bit): ok = CharacterMasks.mask(c) & (1 << UInt64(bit)) != 0
        case .notSet(let bit): ok = CharacterMasks.mask(c) & (1 << UInt64(bit)) == 0
        case .scalar(let value): ok = c == value
        case .space: ok = PythonClasses.reSpace.contains(c)
        case .word: ok = PythonClasses.reWord.contains(c)
        case .anyButNewline: ok = c != 0x0A
        case .start, .optionalSpace: ok = false  // handled above
        }
        return ok && matches(atoms, k + 1, text, i + 1)
    }
}
