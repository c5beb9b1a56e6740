# stormtest in a container: a static binary on a distroless base, running as a non-root user,
# with no shell or package manager at run time (the Kubernetes manifests of `stormtest kube`
# run it with a read-only root file system). Build: docker build -t stormtest:0.1.0 .
FROM golang:1.23 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO off: a static binary that needs no libc in the final image.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/stormtest ./cmd/stormtest

# static-debian12 has CA certificates (https targets) and time zones, and nothing else.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/stormtest /usr/local/bin/stormtest
# 65532, the uid the Kubernetes manifests' securityContext expects.
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/stormtest"]
CMD ["--help"]
