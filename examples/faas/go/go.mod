module github.com/ottavo/faas-examples

go 1.24

require github.com/ottavo/wasm-sdk v0.0.0

replace github.com/ottavo/wasm-sdk => ../../../sdks/wasm/go
