mqttc:autoreconn(true)

