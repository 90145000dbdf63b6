{
  "targets": [
    {
      "target_name": "synack_tun",
      "conditions": [
        ["OS=='linux'", {
          "sources": ["tun.c"],
          "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11", "-pthread"],
          "ldflags": ["-pthread"]
        }]
      ]
    }
  ]
}
