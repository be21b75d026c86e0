@main struct Placeholder { static func main() { print("clip") } }
