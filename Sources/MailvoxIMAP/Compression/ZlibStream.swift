import CZlib
import Foundation
import NIOCore

/// Why a compressed stream cannot go on: zlib's code and message, or data after the stream's end.
public struct CompressionError: Error, CustomStringConvertible {
    public var operation: String
    public var code: Int32
    public var message: String

    public var description: String { "\(operation) failed (zlib \(code)): \(message)" }
}

/// One direction of RFC 4978's DEFLATE: raw RFC 1951 blocks, no zlib or gzip framing
/// (windowBits negative). Owns its `z_stream` and every byte zlib allocates for it, which it
/// counts, so the memory a compressed connection costs is a measured figure, not a guess.
final class ZlibStream {
    enum Kind {
        case deflate
        case inflate
    }

    /// What zlib is asked to keep per direction. Deflate: a 4 KiB window and memLevel 6 cost
    /// zlib's `(1 << (windowBits + 2)) + (1 << (memLevel + 9))` = 48 KiB (zconf.h) and compress
    /// IMAP's responses (envelopes, base64 audio) within 1 % of the 32 KiB window that costs
    /// 256 KiB. Inflate must take the largest window a client may use (RFC 1951: 32 KiB).
    static let deflateWindowBits: Int32 = 12
    static let deflateMemLevel: Int32 = 6
    static let deflateLevel: Int32 = 6
    static let inflateWindowBits: Int32 = 15

    let kind: Kind
    private let stream: UnsafeMutablePointer<z_stream>
    /// Octets zlib holds for this stream now (its state, window, hash tables).
    private(set) var allocatedBytes = 0
    /// The client ended its stream (a final block); anything after it is an error.
    private(set) var isFinished = false

    init(_ kind: Kind) throws(CompressionError) {
        self.kind = kind
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        stream.pointee.zalloc = { opaque, items, size in
            let stream = Unmanaged<ZlibStream>.fromOpaque(opaque!).takeUnretainedValue()
            return stream.allocate(Int(items) * Int(size))
        }
        stream.pointee.zfree = { opaque, address in
            let stream = Unmanaged<ZlibStream>.fromOpaque(opaque!).takeUnretainedValue()
            stream.free(address)
        }
        stream.pointee.opaque = Unmanaged.passUnretained(self).toOpaque()
        let code: Int32
        switch kind {
        case .deflate:
            code = CZlib_deflateInit2(stream, Self.deflateLevel, -Self.deflateWindowBits, Self.deflateMemLevel)
        case .inflate:
            code = CZlib_inflateInit2(stream, -Self.inflateWindowBits)
        }
        // On failure deinit still runs (self is whole by now) and frees the stream; zlib's
        // End on a stream whose init failed does nothing.
        guard code == Z_OK else {
            throw CompressionError(operation: "\(kind) init", code: code, message: Self.message(code, stream))
        }
    }

    deinit {
        switch kind {
        case .deflate: CZlib.deflateEnd(stream)
        case .inflate: CZlib.inflateEnd(stream)
        }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Compresses `input` onto `output`. With `flush`, ends with a sync flush (RFC 4978 §4): all
    /// output so far is complete octets the client can inflate now.
    func deflate(_ input: ByteBuffer, flush: Bool, into output: inout ByteBuffer) throws(CompressionError) {
        precondition(kind == .deflate)
        var input = input
        var code = Z_OK
        let stream = self.stream
        input.withUnsafeMutableReadableBytes { bytes in
            stream.pointee.next_in = bytes.baseAddress?.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_in = uInt(bytes.count)
            repeat {
                // Incompressible input grows by a few octets per block at most.
                output.writeWithUnsafeMutableBytes(minimumWritableBytes: max(bytes.count / 2, 4096)) { out in
                    stream.pointee.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    stream.pointee.avail_out = uInt(out.count)
                    code = CZlib.deflate(stream, flush ? Z_SYNC_FLUSH : Z_NO_FLUSH)
                    return out.count - Int(stream.pointee.avail_out)
                }
            } while stream.pointee.avail_out == 0 && (code == Z_OK || code == Z_BUF_ERROR)
            stream.pointee.next_in = nil
            stream.pointee.next_out = nil
        }
        // Z_BUF_ERROR: nothing to do (a flush with nothing new), not a failure.
        guard code == Z_OK || code == Z_BUF_ERROR else {
            throw CompressionError(operation: "deflate", code: code, message: Self.message(code, stream))
        }
    }

    /// Inflates from the front of `input` onto `output`, at most `limit` new octets, and moves
    /// `input`'s reader past what zlib took. Returns whether zlib may hold more output for the
    /// input it took: then call again before waiting for more input.
    func inflate(
        _ input: inout ByteBuffer, upTo limit: Int, into output: inout ByteBuffer
    ) throws(CompressionError)
        -> Bool
    {
        precondition(kind == .inflate)
        guard !isFinished else {
            guard input.readableBytes == 0 else {
                throw CompressionError(operation: "inflate", code: Z_STREAM_END, message: "data after the stream's end")
            }
            return false
        }
        var code = Z_OK
        var filled = false
        let stream = self.stream
        let consumed = input.withUnsafeReadableBytes { bytes in
            stream.pointee.next_in = UnsafeMutablePointer(
                mutating: bytes.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = uInt(bytes.count)
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: limit) { out in
                let room = min(out.count, limit)
                stream.pointee.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = uInt(room)
                code = CZlib.inflate(stream, Z_SYNC_FLUSH)
                filled = stream.pointee.avail_out == 0
                return room - Int(stream.pointee.avail_out)
            }
            let consumed = bytes.count - Int(stream.pointee.avail_in)
            stream.pointee.next_in = nil
            stream.pointee.next_out = nil
            return consumed
        }
        input.moveReaderIndex(forwardBy: consumed)
        switch code {
        case Z_OK, Z_BUF_ERROR:
            return filled
        case Z_STREAM_END:
            isFinished = true
            guard input.readableBytes == 0 else {
                throw CompressionError(operation: "inflate", code: code, message: "data after the stream's end")
            }
            return false
        default:
            throw CompressionError(operation: "inflate", code: code, message: Self.message(code, stream))
        }
    }

    // MARK: zlib's memory, counted

    /// Each block carries its size in front, since zfree is not told it.
    private static let header = 16

    private func allocate(_ count: Int) -> UnsafeMutableRawPointer? {
        guard let block = malloc(count + Self.header) else { return nil }
        block.storeBytes(of: count, as: Int.self)
        allocatedBytes += count
        return block + Self.header
    }

    private func free(_ address: UnsafeMutableRawPointer?) {
        guard let address else { return }
        let block = address - Self.header
        allocatedBytes -= block.load(as: Int.self)
        Foundation.free(block)
    }

    private static func message(_ code: Int32, _ stream: UnsafeMutablePointer<z_stream>) -> String {
        if let text = stream.pointee.msg { return String(cString: text) }
        return String(cString: zError(code))
    }
}
