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

enum Badness {
    /// One atom of a compiled alternative: a kind plus its operand.
    private struct Atom {
        enum Kind: UInt8 { case set, notSet, scalar, space, word, anyButNewline }
        let kind: Kind
        let mask: UInt64
        let scalar: UInt32
    }

    /// BADNESS_RE alternatives, flattened; `\s?` is expanded into two alternatives (only
    /// existence of a match matters for `is_bad`), `^` becomes `anchored`.
    private struct Compiled {
        var atoms: [Atom] = []
        var starts: [Int] = []  // alternative k = atoms[starts[k]..<starts[k + 1]]
        var anchored: [Bool] = []
        var firstMask: UInt64 = 0  // union of set masks of first atoms
        var firstSetMask: [UInt64] = []  // per alternative: its first atom's mask, or 0 if not a set
        var firstScalars: Set<UInt32> = []
        var firstIsSpace = false
        /// Every alternative has an atom that only matches non-ASCII within its first three,
        /// so a position followed by three ASCII characters starts no match.
        var needsNonASCIIWithinThree = true
    }

    private static let compiled: Compiled = {
        var result = Compiled()
        var expanded: [[BadnessAtom]] = []
        for alternative in GeneratedCharacterSets.badnessAlternatives {
            if let k = alternative.firstIndex(where: { if case .optionalSpace = $0 { true } else { false } }) {
                var with = alternative
                with[k] = .space
                var without = alternative
                without.remove(at: k)
                expanded += [with, without]
            } else {
                expanded.append(alternative)
            }
        }
        for var alternative in expanded {
            var anchored = false
            if case .start = alternative[0] {
                anchored = true
                alternative.removeFirst()
            }
            result.starts.append(result.atoms.count)
            result.anchored.append(anchored)
            if !anchored, case .set(let bit) = alternative[0] {
                result.firstSetMask.append(1 << UInt64(bit))
            } else {
                result.firstSetMask.append(0)
            }
            for (k, atom) in alternative.enumerated() {
                let compiledAtom: Atom
                switch atom {
                case .set(let bit): compiledAtom = Atom(kind: .set, mask: 1 << UInt64(bit), scalar: 0)
                case .notSet(let bit): compiledAtom = Atom(kind: .notSet, mask: 1 << UInt64(bit), scalar: 0)
                case .scalar(let value): compiledAtom = Atom(kind: .scalar, mask: 0, scalar: value)
                case .space: compiledAtom = Atom(kind: .space, mask: 0, scalar: 0)
                case .word: compiledAtom = Atom(kind: .word, mask: 0, scalar: 0)
                case .anyButNewline: compiledAtom = Atom(kind: .anyButNewline, mask: 0, scalar: 0)
                case .start, .optionalSpace:
                    preconditionFailure("unexpected atom position in generated BADNESS_RE")
                }
                if k == 0 && !anchored {
                    switch compiledAtom.kind {
                    case .set: result.firstMask |= compiledAtom.mask
                    case .scalar: result.firstScalars.insert(compiledAtom.scalar)
                    case .space: result.firstIsSpace = true
                    default: preconditionFailure("unexpected first atom in generated BADNESS_RE")
                    }
                }
                result.atoms.append(compiledAtom)
            }
        }
        result.starts.append(result.atoms.count)
        var asciiMask: UInt64 = 0
        for c in 0..<0x80 { asciiMask |= CharacterMasks.bmp[c] }
        for k in 0..<(result.starts.count - 1) {
            let window = result.atoms[result.starts[k]..<min(result.starts[k + 1], result.starts[k] + 3)]
            let hasNonASCIIAtom = window.contains { atom in
                (atom.kind == .set && atom.mask & asciiMask == 0) || (atom.kind == .scalar && atom.scalar >= 0x80)
            }
            if !hasNonASCIIAtom { result.needsNonASCIIWithinThree = false }
        }
        return result
    }()

    /// `ftfy.badness.is_bad`: whether BADNESS_RE matches anywhere in `text`.
    static func isBad<C: RandomAccessCollection>(_ text: C) -> Bool where C.Element == UInt32, C.Index == Int {
        if let result = text.withContiguousStorageIfAvailable({ isBad(buffer: $0) }) { return result }
        return Array(text).withUnsafeBufferPointer { isBad(buffer: $0) }
    }

    private static func isBad(buffer text: UnsafeBufferPointer<UInt32>) -> Bool {
        let n = text.count
        if n == 0 { return false }
        let program = compiled
        let bmp = CharacterMasks.bmp
        let space = PythonClasses.reSpace
        let word = PythonClasses.reWord
        if program.needsNonASCIIWithinThree && !text.contains(where: { $0 >= 0x80 }) { return false }
        // Masks and classes are looked up on the fly: with the ASCII skip below, only positions
        // near non-ASCII characters are ever examined.
        @inline(__always) func mask(_ j: Int) -> UInt64 {
            let c = text[j]
            return c < 0x10000 ? bmp[Int(c)] : 0
        }
        let alternativeCount = program.starts.count - 1
        return program.atoms.withUnsafeBufferPointer { atoms in
            for i in 0..<n {
                let c = text[i]
                if program.needsNonASCIIWithinThree && c < 0x80 && (i + 1 >= n || text[i + 1] < 0x80)
                    && (i + 2 >= n || text[i + 2] < 0x80)
                {
                    continue
                }
                let startsSomething =
                    mask(i) & program.firstMask != 0
                    || (program.firstIsSpace && space.contains(c))
                    || i == 0
                    || (c >= 0xC3 && program.firstScalars.contains(c))
                if !startsSomething { continue }
                let maskHere = mask(i)
                alternatives: for k in 0..<alternativeCount {
                    let firstSet = program.firstSetMask[k]
                    if firstSet != 0 && maskHere & firstSet == 0 { continue }
                    if program.anchored[k] && i != 0 { continue }
                    let first = program.starts[k]
                    let end = program.starts[k + 1]
                    if i + (end - first) > n { continue }
                    var j = i
                    for a in first..<end {
                        let atom = atoms[a]
                        let ok: Bool
                        switch atom.kind {
                        case .set: ok = mask(j) & atom.mask != 0
                        case .notSet: ok = mask(j) & atom.mask == 0
                        case .scalar: ok = text[j] == atom.scalar
                        case .space: ok = space.contains(text[j])
                        case .word: ok = word.contains(text[j])
                        case .anyButNewline: ok = text[j] != 0x0A
                        }
                        if !ok { continue alternatives }
                        j += 1
                    }
                    return true
                }
            }
            return false
        }
    }
}
