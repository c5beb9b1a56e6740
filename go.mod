module github.com/stormtest/stormtest

go 1.26.8
