mqttc:keepalive(30)

