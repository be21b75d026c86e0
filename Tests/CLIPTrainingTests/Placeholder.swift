import Testing

@Test func placeholder_training() {}
