import Foundation

/// Edits one string value inside a JSON configuration file in place, leaving every other
/// byte — formatting, key order, comments-free layout, other fields — exactly as it was.
///
/// `channelkit run` uses it to write a refreshed token back into its config file
/// (`channels.openim.accounts.<id>.token`), as the `multi-openim-channel` plugin does,
/// without re-serialising the operator's file.
package enum ConfigFileEditor {
    /// Why the edit was not made.
    package struct Failure: Error, Sendable, CustomStringConvertible {
        package let message: String
        package var description: String { message }
    }

    /// `data` with the string at `path` (object member names from the root) replaced
    /// by `newValue`.
    /// - Throws: ``Failure`` when the file is not JSON, the path does not exist, or the
    ///   value there is not a string.
    package static func replacingString(at path: [String], with newValue: String, in data: Data) throws(Failure) -> Data {
        let range = try locate(path, in: data)
        var out = Data()
        out.reserveCapacity(data.count + newValue.utf8.count)
        out.append(data[data.startIndex..<data.startIndex + range.lowerBound])
        out.append(Data(JSONValue.quoted(newValue).utf8))
        out.append(data[(data.startIndex + range.upperBound)...])
        return out
    }

    /// The byte range (from the start of `data`) of the string value at `path`.
    package static func locate(_ path: [String], in data: Data) throws(Failure) -> Range<Int> {
        let bytes = [UInt8](data)
        let result: Result<Range<Int>, Failure> = bytes.withUnsafeBufferPointer { buffer in
            var scanner = JSONScanner(buffer)
            do {
                return .success(try find(path[...], &scanner, where: "$"))
            } catch let failure as Failure {
                return .failure(failure)
            } catch {
                return .failure(Failure(message: "not valid JSON: \(error)"))
            }
        }
        return try result.get()
    }

    private static func find(_ path: ArraySlice<String>, _ scanner: inout JSONScanner, where location: String) throws -> Range<Int> {
        guard let name = path.first else {
            guard scanner.peek() == UInt8(ascii: "\"") else { throw Failure(message: "\(location) is not a string") }
            return try scanner.skipValue()
        }
        guard scanner.peek() == UInt8(ascii: "{") else { throw Failure(message: "\(location) is not an object") }
        try scanner.beginObject()
        var first = true
        var found: Range<Int>?
        while let key = try scanner.nextKey(&first) {
            if scanner.decodedName(key) == name {
                found = try find(path.dropFirst(), &scanner, where: location + "." + name)  // the last duplicate wins, as in JSONDecoder
            } else {
                try scanner.skipValue()
            }
        }
        guard let found else { throw Failure(message: "\(location).\(name) does not exist") }
        return found
    }
}
