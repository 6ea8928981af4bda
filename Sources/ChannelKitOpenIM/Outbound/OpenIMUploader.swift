import Foundation
import ChannelKit

/// Uploads media through the `/object/` multipart flow (as the Go SDK's
/// `internal/third/file/upload.go`): `part_limit` → `initiate_multipart_upload` (hash =
/// md5 of the comma-joined part md5s) → `PUT` each part to its signed URL →
/// `complete_multipart_upload` → the object's URL. An `upload: null` reply means the
/// server already stores the same bytes; its `url` is used at once.
struct OpenIMUploader: Sendable {
    let api: OpenIMAPI
    let userID: String
    let maximumSize: Int

    /// Uploads `bytes` as `fileName` and returns the object URL.
    /// - Throws: ``ChannelError`` `.invalidState` for empty or too large media (more
    ///   parts than the server signs), REST errors, `.malformedInput` for a reply without
    ///   the fields the flow needs.
    func upload(_ bytes: Data, fileName: String, contentType: String) async throws -> String {
        let account = api.account
        guard !bytes.isEmpty else { throw ChannelError(.invalidState, "media is empty", account: account) }
        guard bytes.count <= maximumSize else {
            throw ChannelError(.invalidState, "media of \(bytes.count) bytes exceeds the \(maximumSize)-byte limit", account: account)
        }
        let limit = try await api.post("/object/part_limit", [:])
        let minPart = max(1, limit["minPartSize"]?.intValue ?? 5 << 20)
        let maxPart = max(minPart, limit["maxPartSize"]?.intValue ?? 5 << 30)
        let maxNum = max(1, min(limit["maxNumSize"]?.intValue ?? 10_000, 20))
        var partSize = max(minPart, (bytes.count + maxNum - 1) / maxNum)
        partSize = min(partSize, maxPart)
        let partCount = (bytes.count + partSize - 1) / partSize
        guard partCount <= maxNum else {
            throw ChannelError(.invalidState, "media of \(bytes.count) bytes needs \(partCount) parts; at most \(maxNum) are signed", account: account)
        }
        var parts: [Data] = []
        for i in 0..<partCount {
            let start = i * partSize
            parts.append(bytes.subdata(in: start..<min(bytes.count, start + partSize)))
        }
        let partHashes = parts.map { OpenIMMD5.hex($0) }
        let hash = OpenIMMD5.hex(Array(partHashes.joined(separator: ",").utf8))
        let name = "\(userID)/\(fileName)"
        let initiated = try await api.post("/object/initiate_multipart_upload", [
            "hash": .string(hash), "size": .number(Double(bytes.count)), "partSize": .number(Double(partSize)),
            "maxParts": .number(Double(partCount)), "cause": "channelkit", "name": .string(name), "contentType": .string(contentType),
        ])
        guard let upload = initiated["upload"], !upload.isNull else {
            guard let url = initiated["url"]?.stringValue, !url.isEmpty else {
                throw ChannelError(.malformedInput, "initiate_multipart_upload reply has neither upload nor url", account: account, location: "$.data.url")
            }
            return url
        }
        guard let uploadID = upload["uploadID"]?.stringValue, !uploadID.isEmpty, let sign = upload["sign"] else {
            throw ChannelError(.malformedInput, "initiate_multipart_upload reply without upload.uploadID/sign", account: account, location: "$.data.upload")
        }
        let signed = sign["parts"]?.arrayValue ?? []
        for (index, part) in parts.enumerated() {
            let number = index + 1
            let entry = signed.first { $0["partNumber"]?.intValue == number }
            guard let entry else {
                throw ChannelError(.malformedInput, "no signed URL for part \(number)", account: account, location: "$.data.upload.sign.parts")
            }
            let base = entry["url"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? sign["url"]?.stringValue ?? ""
            guard var components = URLComponents(string: base), components.scheme != nil else {
                throw ChannelError(.malformedInput, "part \(number) has no usable URL", account: account, location: "$.data.upload.sign.parts[\(index)].url")
            }
            var items = components.queryItems ?? []
            for list in [sign["query"], entry["query"]] {
                for item in list?.arrayValue ?? [] {
                    guard let key = item["key"]?.stringValue else { continue }
                    for value in item["values"]?.arrayValue ?? [] { items.append(URLQueryItem(name: key, value: value.stringValue)) }
                }
            }
            components.queryItems = items.isEmpty ? nil : items
            var headers: HTTPHeaders = [:]
            for list in [sign["header"], entry["header"]] {
                for item in list?.arrayValue ?? [] {
                    guard let key = item["key"]?.stringValue, let value = item["values"]?[0]?.stringValue else { continue }
                    headers[key] = value
                }
            }
            guard let url = components.url else {
                throw ChannelError(.malformedInput, "part \(number) URL is invalid", account: account, location: "$.data.upload.sign.parts[\(index)].url")
            }
            try await api.put(url, headers: headers, body: part)
        }
        let completed = try await api.post("/object/complete_multipart_upload", [
            "uploadID": .string(uploadID), "parts": .array(partHashes.map { .string($0) }), "name": .string(name),
            "contentType": .string(contentType), "cause": "channelkit",
        ])
        guard let url = completed["url"]?.stringValue, !url.isEmpty else {
            throw ChannelError(.malformedInput, "complete_multipart_upload reply without url", account: account, location: "$.data.url")
        }
        return url
    }
}
