-- Disconnect
mqttc:disconnect()

