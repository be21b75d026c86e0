import Testing

@Test func placeholder_CLIPTensorTests() {}
