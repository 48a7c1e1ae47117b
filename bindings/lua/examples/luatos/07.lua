mqttc:on(function(mqtt_client, event, data, payload, metas)
    -- User-defined code
    log.info("mqtt", "event", event, mqtt_client, data, payload)
end)
--[[
event The possible values are
  conack -- the server authentication is completed, the mqtt connection has been established, and data can be subscribed and published without additional data.
  recv   -- The received data is delivered by the server, data is the topic value (string), payload is the business data (string), metas is metadata (table), generally not processed. .
             -- metas Contains the following
             -- qos Value range 0,1,2
             -- retain Value range 0,1
             -- dup Value range 0,1
  sent   -- After the sending is completed, qos0 will notify immediately, qos1/qos2 will call back in the server response, and data is a message.id
  disconnect -- The server is disconnected, network problems or the server kicks the client, such as duplicate clientId, timeout not reporting business data
]]

