// swift-tools-version:6.0
// libFuzzer targets, in a package of their own so that only they are built with
// `--sanitize=fuzzer --sanitize=address` (NOTES.md). `make fuzz` builds and runs them.
import PackageDescription

let package = Package(
    name: "mailvox-fuzz",
    dependencies: [.package(name: "mailvox", path: "..")],
    targets: [
        .executableTarget(
            name: "FuzzAudio", dependencies: [.product(name: "MailvoxAudio", package: "mailvox")]),
        .executableTarget(
            name: "FuzzMIME", dependencies: [.product(name: "MailvoxMIME", package: "mailvox")]),
        .executableTarget(
            name: "FuzzIMAP", dependencies: [.product(name: "MailvoxIMAP", package: "mailvox")]),
    ],
    swiftLanguageModes: [.v6]
)
