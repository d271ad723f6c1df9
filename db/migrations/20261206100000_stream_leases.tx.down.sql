DROP TABLE IF EXISTS stream_leases;
