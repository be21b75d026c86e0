// CLIPTextCleaning
