import MailvoxPostgres
import Testing

/// The `?` → `$n` rewrite and the statement split skip literals, identifiers and comments.
@Suite struct PostgresSQLTextTests {
    @Test func placeholdersAreNumberedInOrder() {
        let (sql, count) = PostgresSQLText.numberingPlaceholders("SELECT * FROM job WHERE id = ? AND kind IN (?, ?)")
        #expect(sql == "SELECT * FROM job WHERE id = $1 AND kind IN ($2, $3)")
        #expect(count == 3)
    }

    @Test(arguments: [
        "SELECT 'why?' WHERE a = ?",
        "SELECT 'it''s ?' WHERE a = ?",
        #"SELECT E'\'?' WHERE a = ?"#,
        #"SELECT "odd?column" FROM t WHERE a = ?"#,
        "SELECT 1 -- really?\nWHERE a = ?",
        "SELECT /* what? /* nested? */ still? */ 1 WHERE a = ?",
        "SELECT $$ dollar ? $$ WHERE a = ?",
        "SELECT $tag$ it's ? $ not $tag$ WHERE a = ?",
    ])
    func questionMarksInsideQuotesAndCommentsStay(_ sql: String) {
        let (rewritten, count) = PostgresSQLText.numberingPlaceholders(sql)
        #expect(count == 1, "\(rewritten)")
        #expect(rewritten.hasSuffix("WHERE a = $1"), "\(rewritten)")
        #expect(rewritten.dropLast(2) == sql.dropLast(1), "only the placeholder changed: \(rewritten)")
    }

    @Test func aNumberedParameterIsNotADollarQuote() {
        // `$1` already in the text (never written by Mailvox) must not swallow the rest as a quote.
        let (sql, count) = PostgresSQLText.numberingPlaceholders("SELECT $1, ?")
        #expect(sql == "SELECT $1, $1")
        #expect(count == 1)
    }

    @Test func anUnterminatedLiteralRunsToTheEnd() {
        let (sql, count) = PostgresSQLText.numberingPlaceholders("SELECT ? WHERE a = 'open ?")
        #expect(sql == "SELECT $1 WHERE a = 'open ?")
        #expect(count == 1)
    }

    @Test func nonASCIITextIsKept() {
        let (sql, count) = PostgresSQLText.numberingPlaceholders("SELECT 'Grüße ?' , ? -- Ünïcode ?")
        #expect(sql == "SELECT 'Grüße ?' , $1 -- Ünïcode ?")
        #expect(count == 1)
    }

    @Test func statementsAreSplitAtSemicolonsOutsideLiterals() {
        let statements = PostgresSQLText.statements(
            """
            CREATE TABLE a (x TEXT DEFAULT ';');
            -- a comment; with a semicolon
            CREATE INDEX a_x ON a(x);
            CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;
            """)
        #expect(statements.count == 3, "\(statements)")
        #expect(statements[0] == "CREATE TABLE a (x TEXT DEFAULT ';')")
        #expect(statements[1].hasSuffix("CREATE INDEX a_x ON a(x)"))
        #expect(statements[2] == "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql")
    }
}
