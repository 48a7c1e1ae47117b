-- To call before connect
mqttc:will("/xxx/xxx", "xxxxxx")

