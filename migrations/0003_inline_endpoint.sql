-- Schema v3: an edge's first endpoint pair lives in the edge row.
--
-- Almost every edge is seen between one (client IP, server IP) pair per flush, and writing that
-- pair as its own edge_endpoints row (a second b-tree insert, a foreign-key check) cost more than
-- half of a flush's budget (bench/store). The edge row now holds one pair inline: ep_client_ip,
-- ep_server_ip and that pair's own ep_first_seen, ep_last_seen and ep_count, so the pair keeps the
-- times and count it had as a row. edge_endpoints holds only an edge's further pairs.
--
-- Rules the writers keep (mapper/store/graph-store.ts, mapper/retention.ts):
-- - the five ep_* columns are all NULL (no inline pair) or all set;
-- - the inline pair of an edge never also appears in edge_endpoints for that edge, so the pairs of
--   an edge are the inline pair (if any) plus its edge_endpoints rows, each pair once;
-- - retention clears an inline pair last seen before the cutoff, as it deletes such a row.
-- Readers take the union (GraphStore.edgeEndpoints).
--
-- ALTER TABLE ADD COLUMN appends nullable columns without rebuilding edges. Existing data moves:
-- each edge's earliest endpoint row (ties by IP) becomes its inline pair, and that row is deleted.

ALTER TABLE edges ADD COLUMN ep_client_ip TEXT;
ALTER TABLE edges ADD COLUMN ep_server_ip TEXT;
ALTER TABLE edges ADD COLUMN ep_first_seen INTEGER;
ALTER TABLE edges ADD COLUMN ep_last_seen INTEGER;
ALTER TABLE edges ADD COLUMN ep_count INTEGER;

UPDATE edges SET (ep_client_ip, ep_server_ip, ep_first_seen, ep_last_seen, ep_count) = (
  SELECT client_ip, server_ip, first_seen, last_seen, count FROM edge_endpoints p
  WHERE p.edge_id = edges.id
  ORDER BY first_seen, client_ip, server_ip
  LIMIT 1
);

DELETE FROM edge_endpoints WHERE EXISTS (
  SELECT 1 FROM edges e
  WHERE e.id = edge_endpoints.edge_id
    AND e.ep_client_ip = edge_endpoints.client_ip
    AND e.ep_server_ip = edge_endpoints.server_ip
);
