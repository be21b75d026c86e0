import Testing

@Test func placeholder_CLIPModelTests() {}
