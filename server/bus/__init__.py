"""The NATS JetStream bus between the roles of a multi-process deployment (``tradingmcp serve --bus nats://…``).

* *feed* (:mod:`.feed`): holds the venues' market-data connections and publishes every stream message a gateway wants
  on its own subject (:mod:`.subjects`), with a ``seq`` contiguous per stream key;
* *gateway* (:mod:`.gateway`): serves MCP clients; one bus subscription per subject, fanned out locally through the
  :class:`~tradingmcp.server.mcp.streams.StreamHub`; its tool calls forwarded to the trader (:mod:`.forward`);
* *trader* (:mod:`.trader`): the single owner of each account's order path, reached over request/reply, at most one
  active per account (:mod:`.lease`); account events published back on subjects.

The embedded single process (no ``--bus``) needs none of this. Configuration and credentials: :mod:`.config`;
the connection and its JetStream streams: :mod:`.conn`; a local ``nats-server`` for tests and ``tradingmcp cluster``:
:mod:`.natsserver`.
"""
