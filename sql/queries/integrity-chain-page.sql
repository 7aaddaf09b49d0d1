-- One page of a chain in order (keyset: positions after {after}), every physical row: no FINAL
-- and no LIMIT BY, so a second row at one position (a forged or edited copy) is seen. Every
-- column of the row is read (SELECT *): the canonical form covers columns the code does not know.
SELECT *
FROM {{db}}.events
WHERE tenant = {tenant:String}
  AND chain_id = {chain:String}
  AND chain_seq > {after:UInt64}
  AND chain_seq <= {until:UInt64}
ORDER BY chain_seq, event_id
