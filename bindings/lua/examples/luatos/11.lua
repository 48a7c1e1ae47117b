mqttc:publish("/luatos/123456", "123")

