mqttc:close()

