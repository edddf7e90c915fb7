import MailvoxCore
import Testing

@testable import MailvoxMIME

/// ENVELOPE addresses as RFC 5322 writes them and Dovecot reads them (issue #14, item 3);
/// `DovecotDifferentialTests` holds the same forms against Dovecot itself.
@Suite struct AddressParserTests {
    typealias Address = Envelope.Address

    @Test func aCommentIsTheNameWhenThereIsNoPhrase() {
        #expect(
            AddressParser.addresses("user@domain (Real Name)") == [
                Address(name: "Real Name", mailbox: "user", host: "domain")
            ])
        #expect(AddressParser.addresses("a@b (first) (second)") == [Address(name: "second", mailbox: "a", host: "b")])
        #expect(AddressParser.addresses("Ann <a@b> (not a name)") == [Address(name: "Ann", mailbox: "a", host: "b")])
    }

    @Test func emptyGroupsAreOnlyTheirMarkers() {
        #expect(
            AddressParser.addresses("group:;, group2:;")
                == [.groupStart("group"), .groupEnd, .groupStart("group2"), .groupEnd])
        #expect(
            AddressParser.addresses("Team: x@y, (c) \"Z\" <z@y>;, t@y")
                == [
                    .groupStart("Team"), Address(mailbox: "x", host: "y"), Address(name: "Z", mailbox: "z", host: "y"),
                    .groupEnd, Address(mailbox: "t", host: "y"),
                ])
    }

    @Test func commentsAndWhiteSpaceAreNotPartOfTheAddress() {
        #expect(
            AddressParser.addresses("<user-from (comment)@ (comment) domain.org>")
                == [Address(mailbox: "user-from", host: "domain.org")])
        #expect(AddressParser.addresses("Plain   Name <p@x>") == [Address(name: "Plain Name", mailbox: "p", host: "x")])
        #expect(AddressParser.addresses("\"\" <e@x>") == [Address(mailbox: "e", host: "x")])
        #expect(AddressParser.addresses("\"a \\\"b\\\"\" <q@x>") == [Address(name: "a \"b\"", mailbox: "q", host: "x")])
    }

    @Test func missingPartsAndBrokenAddressesAreNamed() {
        #expect(AddressParser.addresses("nodomain") == [Address(mailbox: "nodomain", host: "MISSING_DOMAIN")])
        #expect(AddressParser.addresses("<>") == [Address(mailbox: "MISSING_MAILBOX", host: "MISSING_DOMAIN")])
        #expect(
            AddressParser.addresses("<@r1.example,@r2.example:src@x>")
                == [Address(adl: "@r1.example,@r2.example", mailbox: "src", host: "x")])
        #expect(AddressParser.addresses("<<<>>> , a@b") == [Address(mailbox: "MISSING_MAILBOX", host: "SYNTAX_ERROR")])
        #expect(AddressParser.addresses("a@b@c, d@e") == [Address(mailbox: "a", host: "b")])
        #expect(AddressParser.addresses("a@") == [Address(mailbox: "a", host: "SYNTAX_ERROR")])
    }

    @Test func hostileValuesEndWithoutTrouble() {
        for value in [
            String(repeating: "(", count: 100_000), String(repeating: "\"", count: 10_001), "a@[unclosed",
            String(repeating: "g:", count: 10_000), String(repeating: ",", count: 10_000), "(\\", "\"\\", "<@", "<@a,",
        ] {
            _ = AddressParser.addresses(value)
            _ = AddressParser.searchText(value)
        }
    }

    @Test func searchTextHasTheAddressesWithoutComments() {
        #expect(
            AddressParser.searchText("=?utf-8?Q?J=C3=BCrgen?= <user-from (c)@ (c) domain.org>, x@y (X)")
                == "Jürgen <user-from@domain.org>\nX <x@y>")
    }
}
