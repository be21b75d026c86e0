import Testing

@Test func placeholder_CLIPWeightsTests() {}
