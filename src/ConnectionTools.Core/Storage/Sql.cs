using Microsoft.Data.Sqlite;

namespace ConnectionTools.Storage
{
    internal static class Sql
    {
        public static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string text, params (string Name, object? Value)[] parameters)
        {
            var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = text;
            foreach (var (name, value) in parameters)
            {
                command.Parameters.AddWithValue(name, value ?? System.DBNull.Value);
            }

            return command;
        }

        public static int Execute(SqliteConnection connection, SqliteTransaction? transaction, string text, params (string Name, object? Value)[] parameters)
        {
            using (var command = Command(connection, transaction, text, parameters))
            {
                return command.ExecuteNonQuery();
            }
        }

        public static object? Scalar(SqliteConnection connection, SqliteTransaction? transaction, string text, params (string Name, object? Value)[] parameters)
        {
            using (var command = Command(connection, transaction, text, parameters))
            {
                return command.ExecuteScalar();
            }
        }
    }
}
