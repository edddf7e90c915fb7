import Foundation
import MailvoxCrypto
import Testing

func hex(_ text: String) -> [UInt8] {
    let digits = Array(text.filter { !$0.isWhitespace })
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

func temporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("mvx-crypto-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// RFC 7914 §12 test vectors. The fourth (N = 2^20) needs 1 GiB and is left to the RFC.
@Suite struct ScryptKnownAnswerTests {
    @Test func vector1EmptyPasswordAndSalt() throws {
        let expected = hex(
            """
            77 d6 57 62 38 65 7b 20 3b 19 ca 42 c1 8a 04 97 f1 6b 48 44 e3 07 4a e8 df df fa 3f ed e2 14 42
            fc d0 06 9d ed 09 48 f8 32 6a 75 3a 0f c8 1f 17 e8 d3 e0 fb 2e 0d 36 28 cf 35 e2 0c 38 d1 89 06
            """)
        #expect(try PasswordHasher.scrypt([], salt: [], logN: 4, r: 1, p: 1, length: 64) == expected)
    }

    @Test func vector2PasswordNaCl() throws {
        let expected = hex(
            """
            fd ba be 1c 9d 34 72 00 78 56 e7 19 0d 01 e9 fe 7c 6a d7 cb c8 23 78 30 e7 73 76 63 4b 37 31 62
            2e af 30 d9 2e 22 a3 88 6f f1 09 27 9d 98 30 da c7 27 af b9 4a 83 ee 6d 83 60 cb df a2 cc 06 40
            """)
        let derived = try PasswordHasher.scrypt(
            Array("password".utf8), salt: Array("NaCl".utf8), logN: 10, r: 8, p: 16, length: 64)
        #expect(derived == expected)
    }

    @Test func vector3PleaseLetMeIn() throws {
        let expected = hex(
            """
            70 23 bd cb 3a fd 73 48 46 1c 06 cd 81 fd 38 eb fd a8 fb ba 90 4f 8e 3e a9 b5 43 f6 54 5d a1 f2
            d5 43 29 55 61 3f 0f cf 62 d4 97 05 24 2a 9a f9 e6 1e 85 dc 0d 65 1e 40 df cf 01 7b 45 57 58 87
            """)
        let derived = try PasswordHasher.scrypt(
            Array("pleaseletmein".utf8), salt: Array("SodiumChloride".utf8), logN: 14, r: 8, p: 1, length: 64)
        #expect(derived == expected)
    }
}

@Suite struct PasswordHasherTests {
    let hasher = PasswordHasher(logN: 10, blockSize: 8, parallelism: 1)

    @Test func verifiesTheRightPasswordOnly() throws {
        let stored = try hasher.hash("correct-horse-battery")
        #expect(stored.hasPrefix("$scrypt$ln=10,r=8,p=1$"))
        #expect(try PasswordHasher.verify("correct-horse-battery", against: stored))
        #expect(try !PasswordHasher.verify("correct-horse-batterz", against: stored))
        #expect(try !PasswordHasher.verify("", against: stored))
    }

    @Test func saltsDifferPerHash() throws {
        #expect(try hasher.hash("same password") != hasher.hash("same password"))
    }

    @Test func storedParametersAreHonoured() throws {
        let strong = try PasswordHasher(logN: 12, blockSize: 8, parallelism: 2).hash("pw-123456")
        #expect(strong.contains("ln=12,r=8,p=2"))
        #expect(try PasswordHasher.verify("pw-123456", against: strong))
    }

    @Test(arguments: [
        "", "plain", "$scrypt$ln=10,r=8$c2FsdA$aGFzaA", "$bcrypt$ln=10,r=8,p=1$c2FsdA$aGFzaA",
        "$scrypt$ln=40,r=8,p=1$c2FsdA$aGFzaA", "$scrypt$ln=10,r=8,p=1$!!!$aGFzaA", "$scrypt$ln=x,r=8,p=1$c2FsdA$aGFzaA",
    ])
    func malformedHashesAreErrorsNotMatches(_ stored: String) {
        #expect(throws: CryptoError.malformedPasswordHash) { try PasswordHasher.verify("x", against: stored) }
    }

    @Test func generatedPasswordsAreLongAndDistinct() {
        let passwords = (0..<50).map { _ in GeneratedPassword.make() }
        #expect(Set(passwords).count == 50)
        for password in passwords {
            #expect(password.count == 23)
            #expect(!password.contains(where: { "0O1lI".contains($0) }))
        }
    }
}

@Suite struct MasterKeyTests {
    @Test func writesWithMode600AndLoadsTheSameKey() throws {
        let path = try temporaryDirectory() + "/master.key"
        let key = MasterKey.generate()
        try key.write(to: path)
        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(try MasterKey.load(from: path).id == key.id)
        #expect(key.id.count == 16)
    }

    @Test func neverOverwritesAKey() throws {
        let path = try temporaryDirectory() + "/master.key"
        let first = MasterKey.generate()
        try first.write(to: path)
        #expect(throws: CryptoError.keyFileExists(path: path)) { try MasterKey.generate().write(to: path) }
        #expect(try MasterKey.load(from: path).id == first.id)
    }

    @Test func refusesAKeyReadableByGroupOrOthers() throws {
        let path = try temporaryDirectory() + "/master.key"
        try MasterKey.generate().write(to: path)
        chmod(path, 0o640)
        #expect(throws: CryptoError.keyFileInsecure(path: path, mode: "640")) { try MasterKey.load(from: path) }
    }

    @Test func missingAndMalformedKeysAreNamed() throws {
        let directory = try temporaryDirectory()
        #expect(throws: CryptoError.keyFileMissing(path: directory + "/none")) {
            try MasterKey.load(from: directory + "/none")
        }
        let path = directory + "/bad.key"
        #expect(FileManager.default.createFile(atPath: path, contents: Data("mailvox-master-key-v1 c2hvcnQ=\n".utf8)))
        chmod(path, 0o600)
        #expect(throws: CryptoError.keyFileMalformed(path: path)) { try MasterKey.load(from: path) }
    }
}

@Suite struct KeyWrappingTests {
    @Test func unwrapsForItsOwnerUnderItsMasterKey() throws {
        let master = MasterKey.generate()
        let (publicKey, wrapped) = try KeyPairs.generate(for: .mailbox("1000"), under: master)
        #expect(publicKey.count == 32)
        #expect(wrapped.masterKeyID == master.id)
        let privateKey = try KeyPairs.unwrap(wrapped, for: .mailbox("1000"), under: master)
        #expect(privateKey.publicKey.rawRepresentation == publicKey)
    }

    @Test func aKeyMovedToAnotherOwnerDoesNotOpen() throws {
        let master = MasterKey.generate()
        let (_, wrapped) = try KeyPairs.generate(for: .mailbox("1000"), under: master)
        #expect(throws: CryptoError.unwrapFailed(context: "mailbox:2000")) {
            try KeyPairs.unwrap(wrapped, for: .mailbox("2000"), under: master)
        }
        #expect(throws: CryptoError.unwrapFailed(context: "node")) {
            try KeyPairs.unwrap(wrapped, for: .node, under: master)
        }
    }

    @Test func anotherMasterKeyIsNamedNotTried() throws {
        let master = MasterKey.generate()
        let other = MasterKey.generate()
        let (_, wrapped) = try KeyPairs.generate(for: .node, under: master)
        #expect(throws: CryptoError.wrongMasterKey(expected: other.id, found: master.id)) {
            try KeyPairs.unwrap(wrapped, for: .node, under: other)
        }
    }

    @Test func anyFlippedByteFailsToOpen() throws {
        let master = MasterKey.generate()
        let (_, wrapped) = try KeyPairs.generate(for: .node, under: master)
        for index in wrapped.sealed.indices {
            var damaged = wrapped
            damaged.sealed[index] ^= 0x01
            #expect(throws: CryptoError.self) { try KeyPairs.unwrap(damaged, for: .node, under: master) }
        }
    }
}

@Suite struct DevCertificateTests {
    @Test func namesTheHostLocalhostAndLoopback() throws {
        let files = try DevCertificate.make(hostname: "vm.example.com")
        #expect(files.certificate.hasPrefix("-----BEGIN CERTIFICATE-----"))
        #expect(files.privateKey.contains("PRIVATE KEY-----"))
        let (names, notAfter) = try DevCertificate.describe(pem: files.certificate)
        #expect(names == ["DNS:vm.example.com", "DNS:localhost", "IP:127.0.0.1"])
        #expect(notAfter > Date().addingTimeInterval(365 * 86_400))
    }

    @Test func anIndependentDecoderReadsTheNames() throws {
        let directory = try temporaryDirectory()
        let files = try DevCertificate.make(hostname: "localhost")
        try DevCertificate.write(
            files, certificatePath: directory + "/cert.pem", privateKeyPath: directory + "/key.pem")
        var info = stat()
        stat(directory + "/key.pem", &info)
        #expect(info.st_mode & 0o777 == 0o600)
        // An independent X.509 reader: Python's ssl module decodes the certificate we wrote.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [
            "-c",
            "import ssl,sys; d=ssl._ssl._test_decode_cert(sys.argv[1]); print(d['subjectAltName'])",
            directory + "/cert.pem",
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0)
        #expect(output.contains("('DNS', 'localhost')"))
        #expect(output.contains("('IP Address', '127.0.0.1')"))
    }
}
