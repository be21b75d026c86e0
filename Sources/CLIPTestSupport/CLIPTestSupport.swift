// CLIPTestSupport
