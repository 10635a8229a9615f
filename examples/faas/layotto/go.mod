module github.com/ottavo/faas-layotto

go 1.24
