#!/usr/bin/python3
"""What grpcurl does, with nothing but server reflection: no .proto file, no generated stub.

    python3 clients/python/mesh_reflect.py list
    python3 clients/python/mesh_reflect.py describe mesh.guard.v1.GuardService.Check
    python3 clients/python/mesh_reflect.py call mesh.guard.v1.GuardService/Check '{"stage":"STAGE_OUTPUT","text":"hi"}'

MESH_ADDRESS (default 127.0.0.1:8080) and MESH_API_KEY as for mesh_client.py. `list` prints one
service per line; `describe` prints the method's request and response fields as JSON; `call` sends a
unary call whose request is the JSON given, built from the descriptors reflection returned, and
prints the response as JSON (proto3 JSON mapping, like grpcurl).

The reflection protocol itself (grpc.reflection.v1alpha) is built in, as it is in grpcurl: its
messages are declared below from the public reflection.proto, so no stub is generated for it.
"""
import json
import os
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

F = descriptor_pb2.FieldDescriptorProto
# protobuf 4 has GetMessageClass; Debian bookworm's 3.21 has MessageFactory.GetPrototype.
message_class = getattr(message_factory, "GetMessageClass", None) or message_factory.MessageFactory().GetPrototype


def _reflection_messages():
    """grpc.reflection.v1alpha's request and response messages (the fields Mesh needs), declared in code."""
    file = descriptor_pb2.FileDescriptorProto(name="reflection_min.proto", package="grpc.reflection.v1alpha", syntax="proto3")

    def message(name, *fields):
        m = file.message_type.add(name=name)
        for number, field_name, kind, label, type_name in fields:
            f = m.field.add(name=field_name, number=number, type=kind, label=label)
            if type_name:
                f.type_name = ".grpc.reflection.v1alpha." + type_name
            if field_name in ("file_by_filename", "file_containing_symbol", "list_services",
                              "file_descriptor_response", "list_services_response", "error_response"):
                f.oneof_index = 0
        return m

    one, rep = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    request = message("ServerReflectionRequest",
                      (1, "host", F.TYPE_STRING, one, None),
                      (3, "file_by_filename", F.TYPE_STRING, one, None),
                      (4, "file_containing_symbol", F.TYPE_STRING, one, None),
                      (7, "list_services", F.TYPE_STRING, one, None))
    request.oneof_decl.add(name="message_request")
    message("FileDescriptorResponse", (1, "file_descriptor_proto", F.TYPE_BYTES, rep, None))
    message("ServiceResponse", (1, "name", F.TYPE_STRING, one, None))
    message("ListServiceResponse", (1, "service", F.TYPE_MESSAGE, rep, "ServiceResponse"))
    message("ErrorResponse", (1, "error_code", F.TYPE_INT32, one, None), (2, "error_message", F.TYPE_STRING, one, None))
    response = message("ServerReflectionResponse",
                       (1, "valid_host", F.TYPE_STRING, one, None),
                       (4, "file_descriptor_response", F.TYPE_MESSAGE, one, "FileDescriptorResponse"),
                       (6, "list_services_response", F.TYPE_MESSAGE, one, "ListServiceResponse"),
                       (7, "error_response", F.TYPE_MESSAGE, one, "ErrorResponse"))
    response.oneof_decl.add(name="message_response")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    get = message_class
    return (get(pool.FindMessageTypeByName("grpc.reflection.v1alpha.ServerReflectionRequest")),
            get(pool.FindMessageTypeByName("grpc.reflection.v1alpha.ServerReflectionResponse")))


Request, Response = _reflection_messages()


class Reflection:
    def __init__(self, channel, metadata):
        self._call = channel.stream_stream(
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
            request_serializer=Request.SerializeToString, response_deserializer=Response.FromString)
        self._metadata = metadata
        self.pool = descriptor_pool.DescriptorPool()
        self._added = set()

    def ask(self, **request):
        [answer] = list(self._call(iter([Request(**request)]), metadata=self._metadata, timeout=30))
        if answer.HasField("error_response"):
            sys.exit(f"reflection: {answer.error_response.error_message} (code {answer.error_response.error_code})")
        return answer

    def services(self):
        return [s.name for s in self.ask(list_services="").list_services_response.service]

    def load_symbol(self, symbol):
        """Adds the file defining symbol and, first, every file it imports, to the pool."""
        self._add(self.ask(file_containing_symbol=symbol).file_descriptor_response.file_descriptor_proto)

    def _add(self, serialized_files):
        files = [descriptor_pb2.FileDescriptorProto.FromString(b) for b in serialized_files]
        by_name = {f.name: f for f in files}
        def add(f):
            if f.name in self._added:
                return
            for dependency in f.dependency:
                if dependency not in self._added:
                    add(by_name.get(dependency) or descriptor_pb2.FileDescriptorProto.FromString(
                        self.ask(file_by_filename=dependency).file_descriptor_response.file_descriptor_proto[0]))
            self.pool.Add(f)
            self._added.add(f.name)
        for f in files:
            add(f)

    def method(self, full_name):
        service, _, method = full_name.replace("/", ".").rpartition(".")
        self.load_symbol(service)
        return self.pool.FindServiceByName(service).methods_by_name[method]


def fields(message):
    return {f.name: (f.message_type.full_name if f.message_type else f.enum_type.full_name if f.enum_type else f.type)
            for f in message.fields}


def main(argv):
    address = os.environ.get("MESH_ADDRESS", "127.0.0.1:8080")
    metadata = [("authorization", f"Bearer {os.environ['MESH_API_KEY']}")]
    with grpc.insecure_channel(address) as channel:
        reflection = Reflection(channel, metadata)
        if argv[:1] == ["list"]:
            print("\n".join(sorted(reflection.services())))
        elif argv[:1] == ["describe"] and len(argv) == 2:
            method = reflection.method(argv[1])
            print(json.dumps({"method": method.full_name,
                              "request": {method.input_type.full_name: fields(method.input_type)},
                              "response": {method.output_type.full_name: fields(method.output_type)}}))
        elif argv[:1] == ["call"] and len(argv) == 3:
            method = reflection.method(argv[1])
            request_type = message_class(method.input_type)
            response_type = message_class(method.output_type)
            request = json_format.Parse(argv[2], request_type())
            service = method.containing_service.full_name
            call = channel.unary_unary(f"/{service}/{method.name}",
                                       request_serializer=request_type.SerializeToString,
                                       response_deserializer=response_type.FromString)
            try:
                response = call(request, metadata=metadata, timeout=30)
            except grpc.RpcError as error:
                sys.exit(f"ERROR: {error.code().name}: {error.details()}")
            print(json_format.MessageToJson(response, indent=None))
        else:
            sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
