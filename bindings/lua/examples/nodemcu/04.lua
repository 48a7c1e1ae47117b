-- unsubscribe topic
m:unsubscribe("/topic", function(conn) print("unsubscribe success") end)
