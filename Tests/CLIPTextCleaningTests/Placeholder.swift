import Testing

@Test func placeholder_cleaning() {}
