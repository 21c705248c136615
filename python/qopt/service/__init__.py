"""gRPC service: a thin translation between protobuf and :func:`qopt.solve`."""
