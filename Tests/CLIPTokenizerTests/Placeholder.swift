import Testing

@Test func placeholder_CLIPTokenizerTests() {}
