"""Zerynth's lightweight MQTT library over embermq (libembermq.so, ctypes).

    from lwmqtt import mqtt          # as on Zerynth: from lwmqtt import mqtt
    from lwmqtt import ssl as zssl   # Zerynth's ssl.create_ssl_context

See bindings/python/README.md.
"""
