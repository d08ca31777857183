"""The MEXC Spot v3 protobuf wire schema, as the simulator imports it (``tradingmcp.sim.mexc.proto``).

``tradingmcp_mexc_pb2`` here is a link to the one generated module of the schema
(``server/exchanges/mexc/proto/``, see the README there): the bytes on the wire are defined once, while what the
simulator puts in which field (:mod:`tradingmcp.sim.mexc.encode`) is its own code. Loaded under both names, the
module registers the same file in protobuf's descriptor pool twice with identical contents, which the pool accepts
(and both names give the same message classes).
"""
