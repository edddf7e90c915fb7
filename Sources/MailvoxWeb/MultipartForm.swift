import Foundation
import MailvoxPipeline
import MultipartKit
import NIOCore

/// A parsed `multipart/form-data` body: text fields and files (multipart-kit's parser), as the
/// HTTP deposit and the web inbox's greeting upload read it.
public struct MultipartForm: Sendable {
    public struct File: Sendable {
        public var data: Data
        public var contentType: String?
    }

    public var fields: [String: String] = [:]
    public var files: [String: File] = [:]

    public static func parse(_ body: ByteBuffer, boundary: String) throws -> MultipartForm {
        let parser = MultipartParser(boundary: boundary)
        var form = MultipartForm()
        var headers: [String: String] = [:]
        var content = Data()
        parser.onHeader = { name, value in headers[name.lowercased()] = value }
        parser.onBody = { buffer in content.append(contentsOf: buffer.readableBytesView) }
        parser.onPartComplete = {
            let disposition = headers["content-disposition"] ?? ""
            if let name = MediaTypes.parameter("name", in: disposition) {
                if MediaTypes.parameter("filename", in: disposition) != nil
                    || headers["content-type"]?.hasPrefix("audio/") == true
                {
                    form.files[name] = File(data: content, contentType: headers["content-type"])
                } else {
                    form.fields[name] = String(decoding: content, as: UTF8.self)
                }
            }
            headers = [:]
            content = Data()
        }
        try parser.execute(body)
        return form
    }
}
