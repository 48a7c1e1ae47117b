local error = mqttc:ready()

