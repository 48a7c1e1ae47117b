-- subscribe topic with qos = 0
m:subscribe("/topic",0, function(conn) print("subscribe success") end)
